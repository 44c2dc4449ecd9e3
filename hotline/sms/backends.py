"""SMS gateway backends: development (no network), Alibaba Cloud and Tencent Cloud."""

from __future__ import annotations

import json
import threading

from django.conf import settings

from hotline.sms import PermanentError, SendResult, SmsBackend, Template, TemporaryError


class DevelopmentBackend(SmsBackend):
    """Sends nothing; the message stays in the outbox, readable at /dev/sms/ in demo mode."""

    name = "dev"
    sent: list[tuple[str, str, dict]] = []  # what was "sent" in this process (tests read it)
    _lock = threading.Lock()

    def send(self, *, phone: str, template: Template, params: dict, reference: str) -> SendResult:
        with self._lock:
            type(self).sent.append((phone, template.key, dict(params)))
        return SendResult(message_id=f"dev-{reference}")


class AliyunBackend(SmsBackend):
    """Alibaba Cloud SMS (dysmsapi 2017-05-25): named template parameters, a JSON object."""

    name = "aliyun"
    # Codes that retrying will not fix (the rest, and network errors, are retried).
    PERMANENT = {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.INVALID_PARAMETERS",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.PARAM_LENGTH_LIMIT",
    }

    def __init__(self) -> None:
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import utils_models

        cfg = settings.HOTLINE_SMS
        if not (cfg["ALIYUN_ACCESS_KEY_ID"] and cfg["ALIYUN_ACCESS_KEY_SECRET"]):
            raise PermanentError("阿里云短信未配置 ALIYUN_SMS_ACCESS_KEY_ID / ALIYUN_SMS_ACCESS_KEY_SECRET")
        self.client = Client(
            utils_models.Config(
                access_key_id=cfg["ALIYUN_ACCESS_KEY_ID"],
                access_key_secret=cfg["ALIYUN_ACCESS_KEY_SECRET"],
                endpoint=cfg["ALIYUN_ENDPOINT"],
                connect_timeout=5000,
                read_timeout=10000,
            )
        )

    def send(self, *, phone: str, template: Template, params: dict, reference: str) -> SendResult:
        from alibabacloud_dysmsapi20170525 import models

        request = models.SendSmsRequest(
            phone_numbers=phone,
            sign_name=settings.HOTLINE_SMS["SIGN_NAME"],
            template_code=self.provider_code(template, "aliyun"),
            template_param=json.dumps({k: str(params[k]) for k in template.params}, ensure_ascii=False),
            out_id=reference,
        )
        try:
            body = self.client.send_sms(request).body
        except Exception as exc:  # the SDK raises its own types for network and server errors
            raise TemporaryError(f"阿里云短信请求失败：{exc}") from exc
        if body.code == "OK":
            return SendResult(message_id=body.biz_id or reference)
        error = f"阿里云短信 {body.code}: {body.message}"
        raise (PermanentError if body.code in self.PERMANENT else TemporaryError)(error)


class TencentBackend(SmsBackend):
    """Tencent Cloud SMS (2021-01-11): positional template parameters, E.164 numbers."""

    name = "tencent"
    PERMANENT_PREFIXES = (
        "InvalidParameterValue",
        "FailedOperation.TemplateIncorrectOrUnapproved",
        "FailedOperation.SignatureIncorrectOrUnapproved",
        "UnsupportedOperation",
    )

    def __init__(self) -> None:
        from tencentcloud.common import credential
        from tencentcloud.sms.v20210111 import sms_client

        cfg = settings.HOTLINE_SMS
        if not (cfg["TENCENT_SECRET_ID"] and cfg["TENCENT_SECRET_KEY"] and cfg["TENCENT_SDK_APP_ID"]):
            raise PermanentError("腾讯云短信未配置 TENCENT_SMS_SECRET_ID / SECRET_KEY / SDK_APP_ID")
        self.client = sms_client.SmsClient(
            credential.Credential(cfg["TENCENT_SECRET_ID"], cfg["TENCENT_SECRET_KEY"]), cfg["TENCENT_REGION"]
        )

    def send(self, *, phone: str, template: Template, params: dict, reference: str) -> SendResult:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.PhoneNumberSet = [phone if phone.startswith("+") else f"+86{phone}"]
        request.SmsSdkAppId = settings.HOTLINE_SMS["TENCENT_SDK_APP_ID"]
        request.SignName = settings.HOTLINE_SMS["SIGN_NAME"]
        request.TemplateId = self.provider_code(template, "tencent")
        request.TemplateParamSet = [str(params[k]) for k in template.params]
        request.SessionContext = reference
        try:
            status = self.client.SendSms(request).SendStatusSet[0]
        except TencentCloudSDKException as exc:
            raise TemporaryError(f"腾讯云短信请求失败：{exc}") from exc
        if status.Code == "Ok":
            return SendResult(message_id=status.SerialNo or reference)
        error = f"腾讯云短信 {status.Code}: {status.Message}"
        raise (PermanentError if status.Code.startswith(self.PERMANENT_PREFIXES) else TemporaryError)(error)
