"""anymail's test backend, answering per recipient the way a real ESP does (the ESP boundary of the tests).

SCRIPT maps a recipient address to a list of answers used in turn: an int HTTP status (the ESP's API fails with it),
or a recipient status string ("rejected", "invalid", "queued"…), or a callable run while the ESP "works" that returns
one of those (what else happens during a slow ESP call).  Addresses not in SCRIPT are "sent".
"""

from anymail.backends.test import EmailBackend
from anymail.exceptions import AnymailAPIError
from anymail.message import AnymailRecipientStatus

SCRIPT: dict[str, list] = {}


class ScriptedESPBackend(EmailBackend):
    esp_name = "ScriptedESP"

    def post_to_esp(self, payload, message):
        answers = SCRIPT.get(payload.recipient_emails[0])
        if answers:
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            if callable(answer):
                answer = answer()
            if isinstance(answer, int):
                message.anymail_test_response = AnymailAPIError(
                    f"ESP API error {answer}", status_code=answer, backend=self, email_message=message
                )
            else:
                status = AnymailRecipientStatus(message_id=None, status=answer)
                message.anymail_test_response = {"recipient_status": dict.fromkeys(payload.recipient_emails, status)}
        return super().post_to_esp(payload, message)
