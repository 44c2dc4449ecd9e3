"""Issue 6 security checklist → the tests that prove each item (this file fails if one goes missing).

Unit isolation (IDOR), every endpoint and page, every role
- every route taking an id is classified and checked: tests/security/test_idor.py::test_every_id_route_is_covered
- another unit's ticket answers like a missing one, web and API, GET and POST, nothing changes or is logged:
  tests/security/test_idor.py::test_another_units_ticket_is_indistinguishable_from_a_missing_one
- the oracle can see a difference for the owner: tests/security/test_idor.py::test_the_oracle_can_tell_a_visible_ticket_from_a_missing_one
- lists, search, workbench: tests/security/test_idor.py::test_lists_and_search_never_carry_another_units_ticket,
  tests/hotline/test_views.py::test_workbench_of_street_a_never_lists_street_b,
  tests/hotline/test_views.py::test_search_for_a_unit_never_lists_other_units_tickets,
  tests/hotline/test_api.py::test_phone_search_never_reveals_a_units_confidential_tickets
- score cards, statistics by ?unit=, exemptions, notifications, admin:
  tests/security/test_idor.py::test_another_units_score_card_is_indistinguishable_from_a_missing_one,
  tests/security/test_idor.py::test_the_stats_unit_parameter_is_scoped_like_a_path_id,
  tests/security/test_idor.py::test_another_units_exemption_cannot_be_decided,
  tests/security/test_idor.py::test_someone_elses_notification_is_indistinguishable_from_a_missing_one,
  tests/security/test_idor.py::test_admin_pages_with_an_id_are_staff_only
- pages of other roles do not exist: tests/hotline/test_views.py::test_pages_of_other_roles_do_not_exist_for_a_user

CSRF on every state-changing form
- tokenless POST refused on every route: tests/security/test_csrf.py::test_every_route_refuses_a_post_without_the_csrf_token
- login and rating page: tests/security/test_csrf.py::test_anonymous_posts_need_the_token_too
- every rendered POST form carries the token: tests/security/test_csrf.py::test_every_post_form_on_every_page_carries_the_token
- positive control: tests/security/test_csrf.py::test_the_same_post_with_the_token_goes_through
- an htmx action without the token: tests/hotline/test_views.py::test_action_post_without_csrf_token_is_refused

Stored XSS (title/content, unit reply, rating comment, every page that shows them)
- title and content on queue, workbench, detail, search: tests/hotline/test_views.py::test_stored_xss_is_escaped_on_every_page
- every field on the ticket pages: tests/security/test_xss.py::test_ticket_pages_escape_every_field_for_hub_and_unit
- supervisor, dispatch queue, callbacks, search, notifications, access log, score card:
  tests/security/test_xss.py::test_work_queues_escape_what_they_list
- the resident's rating page: tests/security/test_xss.py::test_the_residents_rating_page_escapes_the_units_reply
- the development SMS inbox: tests/security/test_xss.py::test_the_development_sms_inbox_escapes_before_linking

Login lockout (django-axes), web and API
- web page and API 429: tests/hotline/test_views.py::test_lockout_page_after_repeated_failures,
  tests/hotline/test_api.py::test_token_endpoint_locks_out_after_repeated_failures
- every role, right password refused on both doors:
  tests/security/test_lockout.py::test_every_role_is_locked_on_web_and_api_even_with_the_right_password
- one counter for both doors: tests/security/test_lockout.py::test_web_and_api_failures_count_together
- per account: tests/security/test_lockout.py::test_a_lock_is_per_account
- forged X-Forwarded-For: tests/security/test_lockout.py::test_a_forged_forwarded_for_header_buys_no_new_attempts
- reset on success, cool-off: tests/security/test_lockout.py::test_a_successful_login_resets_the_count,
  tests/security/test_lockout.py::test_the_lock_lifts_after_the_cool_off

Rating token: forgery, expiry, replay, brute force
- forged, guessed, expired, double submit, limited lookups, revoked on reopen:
  tests/hotline/test_rating.py::test_forged_and_guessed_links_get_a_friendly_page,
  tests/hotline/test_rating.py::test_an_expired_link_changes_nothing,
  tests/hotline/test_rating.py::test_a_double_submit_is_harmless,
  tests/hotline/test_rating.py::test_lookups_are_rate_limited_per_address,
  tests/hotline/test_rating.py::test_reopening_revokes_the_old_link_and_the_new_reply_sends_a_new_one
- near misses, randomness: tests/security/test_rating_tokens.py::test_near_miss_forgeries_are_unknown,
  tests/security/test_rating_tokens.py::test_the_token_is_random_not_derived_from_the_ticket
- the expiry instant: tests/security/test_rating_tokens.py::test_a_link_expires_at_the_exact_instant,
  tests/security/test_rating_tokens.py::test_an_expired_link_shows_no_form_and_no_outcome
- replay and racing submits: tests/security/test_rating_tokens.py::test_a_spent_link_replayed_later_shows_nothing_and_records_nothing,
  tests/security/test_rating_tokens.py::test_two_submits_racing_record_one_rating
- brute force: tests/security/test_rating_tokens.py::test_posts_count_towards_the_limit_and_it_holds_even_for_a_valid_link,
  tests/security/test_rating_tokens.py::test_the_limit_is_per_address
- the token leaks nowhere: tests/security/test_rating_tokens.py::test_the_page_is_not_cached_and_sends_no_referrer

Masking and the access log, UI and API
- rules and reveal: tests/hotline/test_privacy.py::test_units_see_the_caller_masked_and_may_reveal,
  tests/hotline/test_privacy.py::test_reveal_phone_shows_the_number_and_logs_who_why_and_what
- whole responses, every role: tests/security/test_privacy_surfaces.py::test_units_never_receive_the_full_number_or_name_anywhere,
  tests/security/test_privacy_surfaces.py::test_hub_roles_see_the_caller_and_each_look_is_logged_unmasked,
  tests/security/test_privacy_surfaces.py::test_a_units_transition_answer_is_masked_too,
  tests/security/test_privacy_surfaces.py::test_lists_never_carry_a_full_number_for_anyone
- confidential: tests/security/test_privacy_surfaces.py::test_a_confidential_caller_is_invisible_to_units_even_masked
- searches, exports, the log itself: tests/security/test_privacy_surfaces.py::test_searches_by_phone_are_logged_without_the_number,
  tests/security/test_privacy_surfaces.py::test_exports_mask_for_units_and_are_logged,
  tests/security/test_privacy_surfaces.py::test_only_auditors_read_the_access_log,
  tests/security/test_privacy_surfaces.py::test_the_access_log_page_names_who_looked_at_what
- append-only trails: tests/hotline/test_privacy.py::test_trail_tables_refuse_raw_sql_update_and_delete

API contract under fuzzing (schemathesis, live schema, every role)
- tests/security/test_schemathesis.py::test_api_holds_its_schema_for_every_role,
  tests/security/test_schemathesis.py::test_token_endpoint_holds_its_schema
- each finding pinned: tests/security/test_api_contract.py::test_transitions_document_their_own_request_and_every_error,
  tests/security/test_api_contract.py::test_format_suffix_routes_run_the_transition_instead_of_failing,
  tests/security/test_api_contract.py::test_malformed_list_parameters_are_400_with_the_field_named,
  tests/security/test_api_contract.py::test_max_length_counts_what_the_client_sent

Gaps found and since fixed (each now a plain test)
- tests/security/test_schemathesis.py::test_malformed_ids_are_answered_in_json
- tests/security/test_lockout.py::test_lockout_page_names_the_configured_cool_off
- tests/security/test_rating_tokens.py::test_a_forged_forwarded_for_header_does_not_reset_the_limit

Production settings: tests/deploy/test_check_deploy.py::test_check_deploy_is_clean_under_production_settings
"""

from __future__ import annotations

import importlib
import re

REFERENCE = re.compile(r"(tests/[\w/]+)\.py::(\w+)")


def test_every_checklist_item_names_tests_that_exist():
    references = REFERENCE.findall(__doc__)
    assert len(references) > 50
    missing = []
    for path, name in references:
        module = importlib.import_module(path.replace("/", "."))
        if not callable(getattr(module, name, None)):
            missing.append(f"{path}.py::{name}")
    assert not missing, f"the checklist names tests that do not exist: {missing}"
