from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "beian.notify"
    label = "notify"
    verbose_name = "通知 / Outbox"
