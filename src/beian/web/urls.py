from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path, re_path

from beian.accounts.views import LoginView
from beian.lookup import views as lookup_views
from beian.offline import views as offline_views
from beian.orders import views as order_views
from beian.registry import views as registry_views
from beian.review import views as review_views
from beian.web import views
from beian.web.api import api

# The API first: Django resolves URLs in order. (The public query's common GET does not even reach Django: see
# lookup.lane, in front of it in web.wsgi.)
urlpatterns = [
    path("api/v1/", api.urls),
    path("", views.home, name="home"),
    path("inspect/", views.inspect, name="inspect"),
    path("query/", lookup_views.query_page, name="public_query"),
    path("blocked/", views.blocked, name="blocked"),
    path("healthz", views.healthz, name="healthz"),
    path("ping", views.ping, name="ping"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("subjects/", registry_views.subject_list, name="subject_list"),
    path("subjects/<int:subject_id>/", registry_views.subject_detail, name="subject_detail"),
    path("subjects/<int:subject_id>/cancel/", order_views.subject_cancel, name="subject_cancel"),
    path("subjects/<int:subject_id>/change/", order_views.subject_change, name="subject_change"),
    path(
        "subjects/<int:subject_id>/add-website/", order_views.subject_add_website, name="subject_add_website"
    ),
    path("websites/<int:website_id>/cancel/", order_views.website_cancel, name="website_cancel"),
    path("websites/<int:website_id>/change/", order_views.website_change, name="website_change"),
    path(
        "websites/<int:website_id>/cancel-access/",
        order_views.website_cancel_access,
        name="website_cancel_access",
    ),
    path("websites/<int:website_id>/add-access/", order_views.website_add_access, name="website_add_access"),
    path("filings/new/", order_views.new_filing, name="new_filing"),
    path("validate/domain", order_views.validate_domain, name="validate_domain"),
    path("orders/", order_views.order_list, name="order_list"),
    path("orders/<int:order_id>/", order_views.order_detail, name="order_detail"),
    path("orders/<int:order_id>/abandon/", order_views.order_abandon, name="order_abandon"),
    path("orders/<int:order_id>/verify/", order_views.order_verify, name="order_verify"),
    path("orders/<int:order_id>/resend/", order_views.order_resend, name="order_resend"),
    path("filing-password/recover/", order_views.password_recover, name="password_recover"),
    path("filing-password/reset", order_views.password_reset, name="password_reset"),
    re_path(r"^review/(?P<stage>provider|bureau)/$", review_views.queue, name="review_queue"),
    path("review/orders/<int:order_id>/", review_views.order_review, name="review_order"),
    re_path(
        r"^review/orders/(?P<order_id>[0-9]+)/(?P<decision>approve|reject)/$",
        review_views.order_decide,
        name="review_decide",
    ),
    path("bureau/offline/", offline_views.bureau_register, name="bureau_register"),
    path("bureau/shells/", offline_views.bureau_shells, name="bureau_shells"),
    path("provinces/", offline_views.province_list, name="province_list"),
    path("provinces/<str:code>", offline_views.province_detail, name="province_detail"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
