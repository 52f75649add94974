from .access import active_branch
from .selectors import branches_for_user, roles_at_branch


def staff_context(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    branch = active_branch(request)
    return {
        "active_branch": branch,
        "staff_roles": roles_at_branch(user=request.user, branch=branch) if branch else set(),
        "staff_branches": branches_for_user(user=request.user),
    }
