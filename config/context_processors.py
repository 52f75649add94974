from accounts.access import active_branch
from accounts.selectors import region_roles_of, roles_at_branch

from .screens import screens_for


def screens(request) -> dict:
    """The menu: every screen the signed-in user may use at their branch, the current marked."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    branch = active_branch(request)
    region_roles = region_roles_of(user=user)
    if branch is None and not region_roles:
        return {"menu": []}
    path = request.path
    available = screens_for(
        roles=roles_at_branch(user=user, branch=branch) if branch else set(),
        is_staff=user.is_staff,
        region_roles=region_roles,
    )
    # The most specific prefix wins: /crm/complaints/ is Complaints, not also Customers (/crm/).
    matches = {
        screen.key: max(
            (len(prefix) for prefix in screen.paths if path.startswith(prefix)), default=0
        )
        for screen in available
    }
    best = max(matches.values(), default=0)
    menu = [
        {"screen": screen, "current": best > 0 and matches[screen.key] == best}
        for screen in available
    ]
    return {"menu": menu}
