"""Demo users for ``make serve``; the notebook_host app itself creates none."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

DEMO_USERS = [
    # username, password, first name, staff, superuser, groups
    ("alice", "alice-demo", "Alice", False, False, ["analysts"]),
    ("bob", "bob-demo", "Bob", True, False, ["analysts", "sales"]),
    ("admin", "admin-demo", "", True, True, []),
]


def create_demo_users() -> None:
    """Create (or reset) the demo users and print their credentials."""
    User = get_user_model()
    for username, password, first, staff, superuser, groups in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username)
        user.first_name = first
        user.email = f"{username}@example.com"
        user.is_staff = staff
        user.is_superuser = superuser
        user.set_password(password)
        user.save()
        user.groups.set(Group.objects.get_or_create(name=g)[0] for g in groups)
    print("Demo users (username / password):")
    for username, password, _, staff, superuser, _ in DEMO_USERS:
        role = "superuser" if superuser else "staff" if staff else "user"
        print(f"  {username} / {password}  ({role})")


def create_demo_notebooks() -> None:
    """Register notebooks/dashboard.py in the admin as /notebooks/team-dashboard/.

    Only members of the ``analysts`` group (and staff) may open it; edit it
    at /admin/notebook_host/notebook/.
    """
    from notebook_host.models import Notebook

    notebook, _ = Notebook.objects.update_or_create(
        slug="team-dashboard",
        defaults={
            "title": "Team dashboard",
            "description": "notebooks/dashboard.py, registered in the admin, analysts only.",
            "path": "dashboard.py",
            "access": "login",
            "enabled": True,
        },
    )
    notebook.allowed_groups.set([Group.objects.get_or_create(name="analysts")[0]])
    print("Registered notebook: /notebooks/team-dashboard/ (group analysts)")
