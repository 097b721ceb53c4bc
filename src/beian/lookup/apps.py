from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_answers(sender, **kwargs) -> None:
    if sender.label == "registry":  # once per migrate, after the registry's tables exist
        from beian.lookup import answers, bigrams, selectors

        answers.ensure()
        bigrams.ensure()
        selectors.ensure_name_function()


class LookupConfig(AppConfig):
    name = "beian.lookup"
    label = "lookup"
    verbose_name = "公共查询 / Public query"

    def ready(self) -> None:
        # the stored public-query answers (lookup.answers) and PostgreSQL's name function follow the code after every
        # migrate
        post_migrate.connect(_ensure_answers, dispatch_uid="beian.lookup.answers")
