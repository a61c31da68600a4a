"""The staff moderation endpoints of docs/api.md "Moderation". They call the same
services as the admin actions (synthesis/services/moderation.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from synthesis import selectors
from synthesis.models import AuditEntry, Block
from synthesis.services import moderation, purge
from tts_platform.fields import StrictBooleanField, StrictCharField
from tts_platform.pagination import paginated_response


class BlockOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    target = serializers.CharField()
    target_id = serializers.CharField()
    reason = serializers.CharField()
    created_by = serializers.CharField(
        source="created_by.username", default=None, allow_null=True
    )
    created_at = serializers.DateTimeField()
    lifted_at = serializers.DateTimeField(allow_null=True)


class AuditOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    actor = serializers.CharField(source="actor_username")
    action = serializers.CharField()
    target = serializers.CharField()
    target_id = serializers.CharField()
    reason = serializers.CharField()
    details = serializers.JSONField()
    created_at = serializers.DateTimeField()


class TargetInputSerializer(serializers.Serializer):
    target = serializers.ChoiceField(choices=Block.Target.choices)
    # The fingerprint, the voice id or the username.
    id = StrictCharField(max_length=150)
    reason = StrictCharField(
        required=False, allow_blank=True, default="", max_length=2000
    )


class PurgeInputSerializer(TargetInputSerializer):
    dry_run = StrictBooleanField(required=False, default=False)


class BlockListCreateApi(APIView):
    permission_classes = [IsAdminUser]

    class FilterSerializer(serializers.Serializer):
        target = serializers.ChoiceField(
            choices=Block.Target.choices, required=False, default=""
        )

    @extend_schema(
        request=TargetInputSerializer,
        responses={201: BlockOutputSerializer},
        tags=["moderation"],
    )
    def post(self, request):
        serializer = TargetInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        block = moderation.block_create(
            actor=request.user,
            target=data["target"],
            target_id=data["id"],
            reason=data["reason"],
        )
        return Response(
            BlockOutputSerializer(block).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        parameters=[FilterSerializer],
        responses=BlockOutputSerializer(many=True),
        tags=["moderation"],
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.block_list(**filters.validated_data)
        return paginated_response(self, request, queryset, BlockOutputSerializer)


class BlockLiftApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses={204: None}, tags=["moderation"])
    def delete(self, request, block_id):
        moderation.block_lift(actor=request.user, block_id=block_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditListApi(APIView):
    permission_classes = [IsAdminUser]

    class FilterSerializer(serializers.Serializer):
        target = serializers.ChoiceField(
            choices=Block.Target.choices, required=False, default=""
        )
        target_id = serializers.CharField(required=False, default="", max_length=150)
        action = serializers.ChoiceField(
            choices=AuditEntry.Action.choices, required=False, default=""
        )

    @extend_schema(
        parameters=[FilterSerializer],
        responses=AuditOutputSerializer(many=True),
        tags=["moderation"],
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.audit_list(**filters.validated_data)
        return paginated_response(self, request, queryset, AuditOutputSerializer)


class PurgeApi(APIView):
    """Deletes the cache entries of the target's artifacts and the files of those no
    history refers to; `dry_run` reports without changing anything."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        request=PurgeInputSerializer, responses={200: None}, tags=["moderation"]
    )
    def post(self, request):
        serializer = PurgeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = purge.purge(
            actor=request.user,
            target=data["target"],
            target_id=data["id"],
            dry_run=data["dry_run"],
            reason=data["reason"],
        )
        return Response(report.as_dict())
