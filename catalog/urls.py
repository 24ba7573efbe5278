"""``/api/items/``, ``/api/colors/``, ``/api/sizes/``, ``/api/variants/`` (read-only; mounted by ``mtc/urls.py``)."""

from django.urls import path

from catalog import apis

app_name = "catalog"

urlpatterns = [
    path("items/", apis.ItemListApi.as_view(), name="items"),
    path("items/<int:item_id>/", apis.ItemDetailApi.as_view(), name="item"),
    path("colors/", apis.ColorListApi.as_view(), name="colors"),
    path("colors/<int:color_id>/", apis.ColorDetailApi.as_view(), name="color"),
    path("sizes/", apis.SizeListApi.as_view(), name="sizes"),
    path("sizes/<int:size_id>/", apis.SizeDetailApi.as_view(), name="size"),
    path("variants/", apis.VariantListApi.as_view(), name="variants"),
    path("variants/<int:variant_id>/", apis.VariantDetailApi.as_view(), name="variant"),
]
