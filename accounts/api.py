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
from tts_platform.pagination import paginated_response
from tts_platform.throttling import RegisterRateThrottle

from . import services
from .forms import MAX_PASSWORD_CHARS
from .models import User
from .ratelimit import client_ip, login_blocked, login_retry_after
from .selectors import api_key_get, api_key_list


def no_store(response: Response) -> Response:
    """A response that shows a plaintext key must not be kept by any cache."""
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


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

    def get_throttles(self):
        throttles = super().get_throttles()
        if settings.RATELIMIT_ENABLE:
            throttles.append(RegisterRateThrottle())
        return throttles

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegisterInput"

        username = StrictCharField(max_length=150)
        password = StrictCharField(max_length=MAX_PASSWORD_CHARS, trim_whitespace=False)
        email = serializers.EmailField(
            required=False, allow_blank=True, default="", max_length=254
        )

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
        return no_store(
            Response(
                {"user": UserOutputSerializer(user).data, "api_key": key},
                status=status.HTTP_201_CREATED,
            )
        )


class TokenCreateApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TokenCreateInput"

        username = StrictCharField(max_length=150)
        password = StrictCharField(max_length=MAX_PASSWORD_CHARS, trim_whitespace=False)
        name = StrictCharField(required=False, allow_blank=True, max_length=100)

    @extend_schema(request=InputSerializer, responses={201: None}, tags=["auth"])
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ip = client_ip(request)
        if login_blocked(username=data["username"], ip=ip):
            retry = login_retry_after(username=data["username"], ip=ip)
            raise ApiError(
                "too_many_failed_logins",
                "Too many failed attempts for this username; try again later.",
                status_code=429,
                headers={"Retry-After": str(retry)},
            )
        # The backend counts a failure (accounts/backends.py).
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
        return no_store(Response(body, status=status.HTTP_201_CREATED))


class ApiKeyListApi(APIView):
    @extend_schema(responses=ApiKeyOutputSerializer(many=True), tags=["auth"])
    def get(self, request):
        keys = api_key_list(user=request.user)
        return paginated_response(self, request, keys, ApiKeyOutputSerializer)


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
