"""The flows send Rasa identity values masked and keep them in full server-side
(bot/accounts/flows/privacy.py), and say the privacy notice once per conversation
before the first question for an identity number or a photo.  Driven like
tests/accounts/test_flows.py: the slots the engine returns are all Rasa keeps."""
import json

from bot.accounts.flows.prompts import privacy_notice
from bot.accounts.masking import mask_document, mask_name, mask_phone
from bot.accounts.models import Decision
from tests.accounts.test_flows import ID_NUMBER, NEW_PHONE, SENDER, Conversation, lite  # noqa: F401

NAME = "王芳"


def appeal_until_photos(store) -> Conversation:
    conversation = Conversation(store.engine(), "appeal")
    conversation.start()
    for answer in ("个人账号", NAME, "居民身份证", ID_NUMBER, NEW_PHONE):
        conversation.say(answer)
    assert conversation.ask == "photo_front", conversation.text
    return conversation


def test_the_slots_hold_masks_and_the_appeal_gets_the_full_values(lite):
    conversation = appeal_until_photos(lite)
    held = json.dumps(conversation.slots, ensure_ascii=False)
    assert ID_NUMBER not in held and NEW_PHONE not in held and NAME not in held
    assert conversation.slots["person_name"] == mask_name(NAME)
    assert conversation.slots["doc_number"] == mask_document(ID_NUMBER)
    assert conversation.slots["phone"] == mask_phone(NEW_PHONE)

    conversation.upload(lite.upload())
    conversation.upload(lite.upload())
    assert conversation.ask == "verification_code"
    assert conversation.slots["flow_data"]["code_phone"] == mask_phone(NEW_PHONE)
    conversation.say(lite.code(NEW_PHONE))
    assert conversation.done and "申诉已提交" in conversation.text
    [appeal] = lite.service.appeals_for(phone=NEW_PHONE)
    assert (appeal.person_name, appeal.doc_number, appeal.phone, appeal.state) == (
        NAME, ID_NUMBER, NEW_PHONE, Decision.PENDING)
    # The flow is over: nothing of it is kept any more.
    assert set(lite.service.kept_values(SENDER)) <= {"privacy_notice_shown"}


def test_a_mask_with_nothing_kept_behind_it_is_asked_again(lite):
    conversation = appeal_until_photos(lite)
    lite.service.forget_values(SENDER, ["phone"])  # e.g. purged while the user was away
    conversation.upload(lite.upload())
    conversation.upload(lite.upload())
    assert conversation.ask == "phone"


def test_values_kept_for_one_conversation_do_not_serve_another(lite):
    conversation = appeal_until_photos(lite)
    copied = {name: value for name, value in conversation.slots.items() if name != "flow"}
    thief = Conversation(lite.engine(), "appeal", sender="another-conversation", **copied)
    thief.ask = "photo_front"
    thief.upload(lite.upload("another-conversation"))
    thief.upload(lite.upload("another-conversation"))
    assert thief.ask == "person_name"  # the masks are no answers there
    assert lite.codes_sent(NEW_PHONE) == 0


def test_the_notice_comes_once_before_the_first_identity_question(lite):
    conversation = Conversation(lite.engine(), "appeal")
    conversation.start()
    conversation.say("个人账号")
    conversation.say(NAME)
    notice = privacy_notice()
    assert notice not in conversation.texts[:-1]  # not before the name or the document type
    conversation.say("居民身份证")
    assert conversation.ask == "doc_number"
    assert conversation.outcome.messages[0]["text"] == notice and "证件号码" in conversation.text
    conversation.say(ID_NUMBER)
    conversation.say(NEW_PHONE)
    assert conversation.ask == "photo_front" and notice not in conversation.text
    # A new flow of the same conversation: no second notice.
    again = Conversation(lite.engine(), "registered_id")
    again.start()
    assert again.ask == "account_ref" and notice not in again.text
    # Another conversation hears it before its first question for a document number.
    other = Conversation(lite.engine(), "registered_id", sender="someone-else")
    other.start()
    assert other.outcome.messages[0]["text"] == notice
