from django.apps import AppConfig


class OfflineConfig(AppConfig):
    name = "beian.offline"
    label = "offline"
    verbose_name = "线下注销 / Offline cancellation"
