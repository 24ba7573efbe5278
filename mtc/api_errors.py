"""Every error the API answers has one shape: ``{"detail": str, "code": str, ...}``.

One exception handler (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``) is the only
place that turns exceptions into HTTP answers:

* the project's domain errors (``mtc.errors``: a refused file, a rejected
  import, a job whose state does not allow the action) keep their ``code``;
  their status is 409 for a :class:`~mtc.errors.Conflict`, 403 for a
  :class:`~mtc.errors.NotAllowed`, the one in
  :data:`STATUS_BY_CODE` for a few codes, else 400; an
  :class:`~mtc.errors.OptionRefused` (an option that does not apply to the
  file, found by a service) answers as a refused field does, below;
* DRF's own errors keep its codes (``not_authenticated``,
  ``permission_denied``, ``not_found``, ``method_not_allowed``,
  ``throttled``...); a refused field or parameter answers 400 with code
  ``invalid``, ``detail`` naming the first problem and ``errors`` holding
  every field's messages; a throttled request carries ``retry_after``
  (seconds, also in the ``Retry-After`` header).

A URL that matches no route at all (``/api/items/abc/``) is answered by
Django itself: :func:`not_found` gives it the same shape, so an API client
never gets an HTML page.
"""

from __future__ import annotations

import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from mtc.errors import Conflict, DomainError, NotAllowed, OptionRefused

#: Domain error codes whose HTTP status is neither 400 nor 409.
STATUS_BY_CODE = {
    "file_too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "unsupported_file_type": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
}


def exception_handler(exc, context):
    """DRF's handler, with domain errors added and every body in the one shape."""
    if isinstance(exc, OptionRefused):
        exc = exceptions.ValidationError({exc.option: [str(exc)]})
    elif isinstance(exc, DomainError):
        default = status.HTTP_400_BAD_REQUEST
        if isinstance(exc, Conflict):
            default = status.HTTP_409_CONFLICT
        elif isinstance(exc, NotAllowed):
            default = status.HTTP_403_FORBIDDEN
        body = {**exc.extra, "detail": str(exc), "code": exc.code}
        return Response(body, status=STATUS_BY_CODE.get(exc.code, default))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        response.data = _body(exc)
    return response


def _body(exc: exceptions.APIException) -> dict:
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return {"detail": _first_problem(errors), "code": "invalid", "errors": errors}
    codes = exc.get_codes()
    body = {"detail": str(exc.detail), "code": codes if isinstance(codes, str) else exc.default_code}
    wait = getattr(exc, "wait", None)  # Throttled's seconds to wait (not in the type stubs)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        body["retry_after"] = math.ceil(wait)
    return body


def _first_problem(errors: dict) -> str:
    """``"kind: \\"widgets\\" is not a valid choice."``: the first message, with its field."""
    for field, messages in errors.items():
        message = messages
        while isinstance(message, list | dict):
            if not message:
                break
            message = next(iter(message.values())) if isinstance(message, dict) else message[0]
        text = str(message)
        return text if field == "non_field_errors" else f"{field}: {text}"
    return "Invalid request."


def not_found(request, exception):
    """Django's 404 page, or the API's 404 body under ``/api/``."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)
