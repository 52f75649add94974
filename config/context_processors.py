from accounts.access import active_branch
from accounts.selectors import roles_at_branch

from .screens import screens_for


def screens(request) -> dict:
    """The menu: every screen the signed-in user may use at their branch, the current marked."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    branch = active_branch(request)
    if branch is None:
        return {"menu": []}
    path = request.path
    menu = [
        {"screen": screen, "current": path.startswith(screen.paths)}
        for screen in screens_for(
            roles=roles_at_branch(user=user, branch=branch), is_staff=user.is_staff
        )
    ]
    return {"menu": menu}
