from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "beian.orders"
    label = "orders"
    verbose_name = "备案订单 / Orders"
