from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from synthesis.selectors import user_quota, user_usage
from tts_platform.errors import ApiError
from tts_platform.fields import StrictCharField

from . import services
from .models import User
from .selectors import api_key_get, api_key_list


class UserOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "is_staff", "date_joined"]


class ApiKeyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegisterInput"

        username = StrictCharField(max_length=150)
        password = StrictCharField(max_length=128, trim_whitespace=False)
        email = serializers.EmailField(required=False, allow_blank=True, default="")

        def validate_username(self, value):
            if User.objects.filter(username__iexact=value).exists():
                raise serializers.ValidationError(
                    "That username is taken.", code="username_taken"
                )
            User.username_validator(value)
            return value

    @extend_schema(request=InputSerializer, responses={201: None}, tags=["auth"])
    def post(self, request):
        if not settings.TTS_REGISTRATION_OPEN:
            raise ApiError(
                "registration_closed", "Registration is closed.", status_code=403
            )
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user, key = services.user_register(**serializer.validated_data)
        except DjangoValidationError as error:
            raise ApiError(
                "weak_password", " ".join(error.messages), param="password"
            ) from None
        return Response(
            {"user": UserOutputSerializer(user).data, "api_key": key},
            status=status.HTTP_201_CREATED,
        )


class TokenCreateApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TokenCreateInput"

        username = StrictCharField()
        password = StrictCharField(trim_whitespace=False)
        name = StrictCharField(required=False, allow_blank=True, max_length=100)

    @extend_schema(request=InputSerializer, responses={201: None}, tags=["auth"])
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = authenticate(
            request, username=data["username"], password=data["password"]
        )
        if user is None:
            raise ApiError(
                "invalid_credentials",
                "Unknown username or wrong password.",
                status_code=401,
            )
        api_key, key = services.api_key_create(user=user, name=data.get("name", ""))
        body = dict(ApiKeyOutputSerializer(api_key).data)
        body["key"] = key
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyListApi(APIView):
    @extend_schema(responses=ApiKeyOutputSerializer(many=True), tags=["auth"])
    def get(self, request):
        keys = api_key_list(user=request.user)
        return Response(ApiKeyOutputSerializer(keys, many=True).data)


class ApiKeyRevokeApi(APIView):
    @extend_schema(responses={204: None}, tags=["auth"])
    def delete(self, request, key_id: int):
        services.api_key_revoke(api_key=api_key_get(user=request.user, key_id=key_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(responses={200: None}, tags=["auth"])
    def get(self, request):
        user = request.user
        return Response(
            {
                "username": user.username,
                "email": user.email,
                "is_staff": user.is_staff,
                "quota": user_quota(user=user),
                "usage": user_usage(user=user),
            }
        )
