from rest_framework import pagination
from rest_framework.response import Response


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


def paginated_response(view, request, items, serializer_class) -> Response:
    """One page of `items` (a queryset or any sliceable sequence) in docs/api.md's list
    shape: {count, next, previous, results}."""
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
