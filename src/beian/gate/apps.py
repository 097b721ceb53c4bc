from django.apps import AppConfig


class GateConfig(AppConfig):
    name = "beian.gate"
    label = "gate"
    verbose_name = "接入控制 / Enforcement gate"
