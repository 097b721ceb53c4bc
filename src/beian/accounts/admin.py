from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from beian.accounts.models import ApiToken, User


@admin.register(User)
class BeianUserAdmin(UserAdmin):
    list_display = ("username", "role", "province", "email", "is_active")
    list_filter = ("role", "province", "is_active")
    fieldsets = (*UserAdmin.fieldsets, ("beian", {"fields": ("role", "province", "mobile")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("beian", {"fields": ("role", "province", "mobile")}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("key_hint", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("key_digest", "key_hint", "created_at", "last_used_at")
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        from beian.core import clock

        queryset.update(revoked_at=clock.now())

    def has_add_permission(self, request):
        return False  # tokens are shown once: create them with `beian token create`
