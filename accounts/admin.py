from django.contrib import admin

from .models import Branch, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "time_zone", "opens_at", "closes_at", "max_priority_bypass"]
    search_fields = ["code", "name", "name_en"]
    inlines = [MembershipInline]
    readonly_fields = ["display_token"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "branch", "role", "is_active"]
    list_filter = ["branch", "role", "is_active"]
    search_fields = ["user__username"]
