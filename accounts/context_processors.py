from .access import active_branch
from .models import Role
from .selectors import branches_for_user, roles_at_branch


def staff_context(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    branch = active_branch(request)
    roles = roles_at_branch(user=request.user, branch=branch) if branch else set()
    return {
        "active_branch": branch,
        "staff_roles": roles,
        # In the reader's language (a role typed into someone's name would not be).
        "staff_role_labels": [role.label for role in Role if role in roles],
        "staff_branches": branches_for_user(user=request.user),
    }
