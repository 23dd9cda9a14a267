"""Internal names never reach a page: each has the words people read."""

from leadapp.domain.labels import ACTION_LABELS, action_label, field_label, match_label


def test_fields_actions_and_check_fields_read_as_words():
    assert field_label("phone1") == "Phone 1" and field_label("customer_key") == "Customer key"
    assert field_label("custom:policy", {"policy": "Policy number"}) == "Policy number"
    assert match_label("phone1|email") == "Phone 1 or Email"
    assert match_label("phone1+customer_key") == "Phone 1 and Customer key"
    assert match_label(None) == "—"
    assert action_label("discard-new") == "Keep the existing lead, skip the new row"
    assert all("-" not in words.split("(")[0] for words in ACTION_LABELS.values())
