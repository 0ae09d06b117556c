"""Web URLs of the costs app."""

from django.urls import path

from . import views, views_budgets, views_statements

app_name = "costs"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("export.csv", views.overview_csv, name="overview_csv"),
    path("platform/", views.platform, name="platform"),
    path("price-book/", views.price_book, name="price_book"),
    path("budgets/", views_budgets.budgets, name="budgets"),
    path("statements/", views_statements.index, name="statements"),
    path("statements/view/", views_statements.printable, name="statement"),
    path("statements/export.csv", views_statements.export_csv, name="statement_csv"),
    path("tenants/<slug:slug>/", views.tenant, name="tenant"),
    path(
        "clusters/<slug:name>/pull-status/", views.cluster_pull_status, name="cluster_pull_status"
    ),
]
