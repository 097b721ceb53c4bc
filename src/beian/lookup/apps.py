from django.apps import AppConfig


class LookupConfig(AppConfig):
    name = "beian.lookup"
    label = "lookup"
    verbose_name = "公共查询 / Public query"
