"""Test users, created in the live server's database and in unit tests."""

PASSWORD = "pw-test-only"

USERS = {
    # username: (first name, staff, superuser, groups, permissions)
    "alice": ("Alice", False, False, ["analysts"], []),
    "bob": ("", True, False, [], []),
    "root": ("Root", True, True, [], []),
    "carol": ("Carol", False, False, ["analysts", "sales"], ["auth.view_user"]),
    # staff who may edit registered notebooks but not deploy code
    "dana": (
        "Dana",
        True,
        False,
        [],
        [
            "notebook_host.add_notebook",
            "notebook_host.change_notebook",
            "notebook_host.view_notebook",
        ],
    ),
}


def create_test_users() -> None:
    # Django's models need configured settings; PASSWORD and USERS do not (the
    # benchmarks read them in a process without Django set up).
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    User = get_user_model()
    for username, (first, staff, superuser, groups, perms) in USERS.items():
        user, _ = User.objects.get_or_create(username=username)
        user.first_name = first
        user.last_name = "Tester" if first else ""
        user.email = f"{username}@example.com"
        user.is_staff = staff
        user.is_superuser = superuser
        user.set_password(PASSWORD)
        user.save()
        user.groups.set(Group.objects.get_or_create(name=g)[0] for g in groups)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
