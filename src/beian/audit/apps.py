from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "beian.audit"
    label = "audit"
    verbose_name = "审计日志 / Audit log"
