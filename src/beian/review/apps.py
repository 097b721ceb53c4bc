from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "beian.review"
    label = "review"
    verbose_name = "审核 / Review"
