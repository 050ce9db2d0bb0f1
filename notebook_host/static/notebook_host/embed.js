/* notebook_host: sizes the notebook frames of a host page ({% notebook %}).
 *
 * A framed notebook page in auto mode posts {type: "notebook_host:height",
 * height} to this page. Only messages from this site's own origin count,
 * and only for the frame that sent them (event.source); frames with a
 * fixed height are left alone. Each resize also fires a
 * "notebook-host:resize" event on the frame ({detail: {height}}), and the
 * frame gets {type: "notebook_host:sized"} back: a frame that never hears
 * it shows a notice and scrolls inside instead (this script did not run).
 *
 * {% notebook %} inlines this file in the host page, so no static file
 * serving is needed; it also works as a static file.
 */
(function () {
  "use strict";
  if (window.__notebookHostEmbed) return; // included once, however many frames
  window.__notebookHostEmbed = true;
  var MESSAGE = "notebook_host:height";
  var SIZED = "notebook_host:sized";
  var MAX_HEIGHT = 100000;

  window.addEventListener("message", function (event) {
    if (event.origin !== window.location.origin) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.type !== MESSAGE) return;
    var height = data.height;
    if (typeof height !== "number" || !isFinite(height) || height < 0) return;
    var frames = document.querySelectorAll("iframe.notebook-host-frame");
    for (var i = 0; i < frames.length; i++) {
      var frame = frames[i];
      if (frame.contentWindow !== event.source) continue;
      if (frame.getAttribute("data-notebook-height") !== "auto") return;
      event.source.postMessage({ type: SIZED }, event.origin);
      var pixels = Math.min(Math.ceil(height), MAX_HEIGHT);
      frame.style.height = pixels + "px";
      frame.dispatchEvent(new CustomEvent("notebook-host:resize", { detail: { height: pixels } }));
      return;
    }
  });
})();
