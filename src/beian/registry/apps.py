from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "beian.registry"
    label = "registry"
    verbose_name = "备案信息 / Registry"
