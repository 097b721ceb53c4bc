from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "beian.core"
    label = "core"
    verbose_name = "Core"
