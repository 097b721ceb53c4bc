from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "beian.accounts"
    label = "accounts"
    verbose_name = "账号 / Accounts"
