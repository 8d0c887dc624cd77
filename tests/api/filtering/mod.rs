//! Discovery by filter and order, labels and aliases.

mod aliases;
mod dataset;
mod documented;
mod fields;
mod labels;
mod paging;
mod search_terms;

use crate::common::on_every_backend;
use aliases::*;
use documented::*;
use fields::*;
use labels::*;
use paging::*;
use search_terms::*;

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        the_documented_examples_find_what_the_page_says,
        every_field_and_operator_finds_the_same_models,
        literals_that_look_like_sql_are_data,
        malformed_filters_name_the_position_and_what_was_expected,
        every_order_pages_without_gaps_or_duplicates_while_writes_happen,
        page_tokens_are_bound_to_filter_and_order,
        labels_are_stored_shown_and_updated_by_mask,
        labels_follow_kubernetes_rules,
        an_alias_moves_between_versions_with_its_events,
        aliases_name_downloads_and_bad_ones_are_rejected,
        concurrent_sets_of_one_new_alias_all_succeed,
        filters_follow_every_write_of_platforms_and_labels,
        platform_names_that_look_like_terms_are_data,
        the_migration_fills_the_terms_as_the_server_writes_them,
    )
}
