"""The topic classifier's decisions (bot/nlu/topic_classifier.py) and the other-service guard."""
import numpy as np
from rasa.shared.nlu.training_data.message import Message

from bot.clarification import candidate_topics
from bot.nlu.other_service_guard import OtherServiceGuard, ServiceLexicon
from bot.nlu.text_channels import prepared_views
from bot.nlu.topic_classifier import decide
from bot.nlu.topic_model import TopicModel, TopicModelSettings

LABELS = ["faq/browser", "faq/sms_code", "forgot_password", "out_of_scope"]


def test_a_sure_faq_answer_is_the_faq_intent_with_its_answer():
    parse = decide(LABELS, np.array([0.7, 0.1, 0.15, 0.05]), 0.3, 0.1)
    assert parse["intent"] == {"name": "faq", "confidence": 0.7}
    selection = parse["response_selector"]["faq"]
    assert selection["response"]["intent_response_key"] == "faq/browser"
    assert selection["response"]["utter_action"] == "utter_faq/browser"
    assert abs(selection["response"]["confidence"] - 0.7 / 0.8) < 1e-9
    assert [r["name"] for r in parse["intent_ranking"]] == ["faq", "forgot_password", "out_of_scope"]
    assert abs(parse["intent_ranking"][0]["confidence"] - 0.8) < 1e-9


def test_the_faq_share_cannot_outvote_a_core_problem():
    """Many FAQ answers of small probability do not make 'faq' the intent."""
    parse = decide(LABELS, np.array([0.3, 0.3, 0.35, 0.05]), 0.3, 0.0)
    assert parse["intent"]["name"] == "forgot_password"


def test_unsure_or_ambiguous_becomes_did_you_mean_with_the_candidates():
    low = decide(LABELS, np.array([0.2, 0.15, 0.25, 0.4]), 0.5, 0.0)
    close = decide(LABELS, np.array([0.45, 0.05, 0.5, 0.0]), 0.3, 0.1)
    for parse in (low, close):
        assert parse["intent"]["name"] == "nlu_fallback"
        assert parse["intent_ranking"][0]["name"] == "nlu_fallback"
    assert [topic.key for topic in candidate_topics(close)][:2] == ["forgot_password", "faq/browser"]


def test_the_model_learns_saves_and_loads(tmp_path):
    texts = ["密码忘了", "忘记密码怎么办", "mima wangle", "浏览器用哪个", "推荐什么浏览器", "用谷歌还是360"]
    labels = ["forgot_password"] * 3 + ["faq/browser"] * 3
    model = TopicModel.fit([prepared_views(t) for t in texts], labels, TopicModelSettings())
    model.save(tmp_path)
    loaded = TopicModel.load(tmp_path)
    views = [prepared_views("蜜码忘了"), prepared_views("推荐哪个浏览器")]
    assert np.allclose(model.probabilities(views), loaded.probabilities(views), atol=1e-6)
    assert [loaded.labels[i] for i in loaded.probabilities(views).argmax(axis=1)] == ["forgot_password", "faq/browser"]


def test_training_is_deterministic():
    """SAG visits the examples in random order; the fixed seed makes two fits the same model."""
    texts = ["密码忘了", "忘记密码怎么办", "mima wangle", "浏览器用哪个", "推荐什么浏览器", "用谷歌还是360",
             "页面乱码", "字叠在一起"]
    labels = ["forgot_password"] * 3 + ["faq/browser"] * 3 + ["garbled_page"] * 2
    views = [prepared_views(t) for t in texts]
    first, second = (TopicModel.fit(views, labels, TopicModelSettings()) for _ in range(2))
    assert first.settings.solver == "sag"
    assert np.array_equal(first.probabilities(views), second.probabilities(views))


def pretend_source_changed(monkeypatch, changed_module):
    """``code_fingerprint`` reads ``changed_module``'s source with a line added, as after an edit."""
    import bot.nlu.component as component

    real = component.inspect.getsource
    monkeypatch.setattr(component.inspect, "getsource",
                        lambda module: real(module) + ("# changed" if module is changed_module else ""))


def test_a_change_to_the_code_a_component_delegates_to_retrains_it(monkeypatch):
    """Rasa's cache keys a component by its own class's source: the topic model and the
    normaliser live in other modules, so their source is in the key too (fingerprint_addon)."""
    import bot.nlu.topic_model as topic_model_module
    from bot.nlu.text_channels import TextNormaliser
    from bot.nlu.topic_classifier import TopicClassifier

    before = (TopicClassifier.fingerprint_addon({}), TextNormaliser.fingerprint_addon({}))
    pretend_source_changed(monkeypatch, topic_model_module)
    assert TopicClassifier.fingerprint_addon({}) != before[0]
    assert TextNormaliser.fingerprint_addon({}) == before[1]


def test_a_change_beside_the_component_class_retrains_it(monkeypatch):
    """A module-level helper next to the class (``prepared_views``) is part of the key too."""
    import bot.nlu.text_channels as text_channels

    before = text_channels.TextNormaliser.fingerprint_addon({})
    pretend_source_changed(monkeypatch, text_channels)
    assert text_channels.TextNormaliser.fingerprint_addon({}) != before


def test_a_glossary_change_retrains_what_reads_it(tmp_path, monkeypatch):
    import bot.nlu.text_channels as text_channels
    from bot.nlu.normalisation import GLOSSARY_PATH

    before = text_channels.TextNormaliser.fingerprint_addon({})
    changed = tmp_path / "glossary.yml"
    changed.write_bytes(GLOSSARY_PATH.read_bytes() + b"\n# one more word\n")
    monkeypatch.setattr(text_channels, "GLOSSARY_PATH", changed)
    assert text_channels.TextNormaliser.fingerprint_addon({}) != before


def guarded(text, intent="realname_failed"):
    message = Message(data={"text": text, **prepared_views(text)})
    message.set("intent", {"name": intent, "confidence": 0.9}, add_to_output=True)
    message.set("intent_ranking", [{"name": intent, "confidence": 0.9}], add_to_output=True)
    OtherServiceGuard(ServiceLexicon.load()).process([message])
    return message.get("intent")["name"]


def test_another_services_problem_is_declined():
    assert guarded("支付宝实名认证不通过") == "out_of_scope"
    assert guarded("個稅APP實名認證失敗") == "out_of_scope"
    assert guarded("公司OA审批没有权限", "missing_grant") == "out_of_scope"


def test_a_message_naming_this_platform_too_is_ours():
    assert guarded("支付宝实名过了，科技部平台实名还是失败") == "realname_failed"
    assert guarded("人遗系统没有权限，我用的是微信扫码", "missing_grant") == "missing_grant"
    assert guarded("我的实名认证失败了") == "realname_failed"
    assert guarded("oauth登录失败", "forgot_password") == "forgot_password"
