"""The API's page numbers and sizes, shared by every list endpoint."""

import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

#: ASCII digits, few enough for ``int`` (whose limit on digits is a ValueError too).
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


class Pages(PageNumberPagination):
    """``?page=N``; ``?page_size=`` from 1 to 500 (default: the ``PAGE_SIZE`` setting, 50).

    A ``page_size`` that is not a whole number in range answers 400 rather than
    quietly falling back to the default (DRF's own behaviour). Only ASCII digits
    count: ``str.isdigit`` also accepts ``³`` and ``①``, which ``int`` refuses
    (a 500 found by schemathesis, issue 11).
    """

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (_WHOLE_NUMBER.fullmatch(raw) and 1 <= int(raw) <= self.max_page_size):
            raise ValidationError({"page_size": f"Expected a whole number from 1 to {self.max_page_size}."})
        return super().get_page_size(request)

    def get_paginated_response_schema(self, schema):
        """DRF's, without its sample links to ``api.example.org/accounts/``, which is not this API."""
        response = super().get_paginated_response_schema(schema)
        for key, page in (("next", "N + 1"), ("previous", "N - 1")):
            link = response["properties"][key]
            link.pop("example", None)
            link["description"] = f"This list's URL for page {page} (absolute), or null when there is none."
        response["properties"]["count"]["description"] = "How many results there are, over every page."
        return response

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
            elif parameter["name"] == self.page_query_param:
                parameter["schema"].update(minimum=1)
        return parameters
