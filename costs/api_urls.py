"""API URLs of the costs app, mounted under /api/v1/."""

from django.urls import path

from . import api, api_budgets

urlpatterns = [
    path("costs/tenants/", api.tenant_costs_list, name="costs-tenants"),
    path("costs/tenants/<slug:slug>/", api.tenant_costs_detail, name="costs-tenant"),
    path("price-book/", api.price_book, name="price-book"),
    path("costs/budgets/", api_budgets.budget_list, name="costs-budgets"),
]
