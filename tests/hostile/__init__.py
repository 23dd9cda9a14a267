"""Hostile inputs (issue 7): each one gets a clear sentence or a per-row reason, nothing is
left half-written (no import left running, no leads on a refusal, no staged file on a
refused upload), and the app keeps serving (GET /pools answers 200 afterwards).

Every item of the issue's list, and the test that proves it. ``files`` is
tests/hostile/test_files.py, ``content`` tests/hostile/test_content.py, ``slow``
tests/hostile/test_slow.py (``make test-slow``); other paths are tests that already existed.

====================================  ==========================================================
Item                                  Test
====================================  ==========================================================
empty file                            files::test_refused_uploads_say_why_and_keep_nothing[empty];
                                      tests/imports/test_cli.py::test_bad_files_are_refused;
                                      tests/domain/test_csv_io.py::test_refusals
header-only file                      files::test_refused_uploads_say_why_and_keep_nothing
                                      [header-only]; tests/imports/test_cli.py::
                                      test_bad_files_are_refused; test_csv_io.py::test_refusals
blank-lines-only file                 files::test_refused_uploads_say_why_and_keep_nothing
                                      [blank-lines-only, bom-and-blank-lines];
                                      files::test_refused_files_on_the_command_line
UTF-8 BOM, UTF-16, Windows-1252       files::test_encodings_are_shown_and_imported_right;
                                      test_csv_io.py::test_encodings_are_detected_and_decoded;
                                      tests/imports/test_exports.py::
                                      test_german_semicolon_windows_1252_spreadsheet (CLI)
invalid UTF-8                         files::test_invalid_utf8_is_refused_when_utf8_is_chosen;
                                      test_csv_io.py::test_encoding_override_and_undecodable_bytes
                                      (detection falls back to Windows-1252/Latin-1 by design:
                                      test_utf8_deep_in_a_large_file_is_checked_beyond_the_sample)
mixed encodings                       files::test_mixed_encodings_are_shown_and_utf8_refuses_the_
                                      odd_line
``;``, tab, ``|`` delimiters, sep=;   test_csv_io.py::test_delimiters_are_detected,
                                      ::test_sep_line_sets_the_delimiter_and_is_skipped;
                                      test_exports.py::test_vicidial_standard_list_layout
                                      [tab, pipe], ::test_german_semicolon_windows_1252_
                                      spreadsheet[plain, sep-line] (CLI, ``;`` and ``sep=;``)
CR-only line ends                     files::test_cr_only_line_ends_are_rows (bug fixed)
quoted newlines                       test_csv_io.py::test_quotes_line_ends_blank_lines_and_line_
                                      numbers; test_exports.py::test_google_contacts_export (a
                                      quoted two-line note imported as one cell)
an unterminated quote                 files::test_an_unterminated_quote_is_refused_not_swallowed,
                                      ::test_an_unterminated_quote_on_the_command_line (bug fixed)
stray quotes                          files::test_stray_quotes_stay_text_or_give_a_row_reason
short and long rows                   test_csv_io.py::test_ragged_rows_are_reported_with_line_
                                      numbers; content::test_short_and_long_rows_are_warned_about_
                                      in_the_log
duplicate and blank headers           test_csv_io.py::test_duplicate_and_dirty_headers
10,000 columns                        slow::test_ten_thousand_columns_on_the_command_line,
                                      ::test_ten_thousand_columns_in_the_wizard
a 200 KiB field                       files::test_refused_uploads_say_why_and_keep_nothing
                                      [200-KiB-field], ::test_refused_files_on_the_command_line
                                      [200-KiB-field] (bug fixed: it was "no leads under it");
                                      test_csv_io.py::test_over_long_field_is_refused
a large file with no line break       files::test_a_large_file_without_line_breaks_is_refused
                                      (4 MiB, real size); test_csv_io.py::test_no_line_breaks_
                                      past_the_limit
NUL bytes (SQLite and PostgreSQL)     test_csv_io.py::test_refusals (NUL in the first 8 KiB);
                                      files::test_refused_uploads_say_why_and_keep_nothing
                                      [nul-in-the-sample], ::test_nul_deep_in_the_file_stops_the_
                                      check_and_leaves_no_half_staged_rows, ::test_nul_deep_in_
                                      the_file_on_the_command_line (bug fixed: PostgreSQL failed
                                      the import, SQLite stored the NUL)
PNG/PDF/XLSX/GZ renamed .csv          files::test_refused_uploads_say_why_and_keep_nothing
                                      [png, pdf, xlsx, gz], ::test_refused_files_on_the_command_
                                      line[pdf, gz]; test_cli.py::test_bad_files_are_refused (PNG,
                                      XLSX); test_csv_io.py::test_refusals,
                                      ::test_real_zip_xlsx_and_gzip_are_refused
an upload over the limit              files::test_an_upload_over_the_limit_is_413_with_the_sentence
a client disconnecting mid-upload     files::test_a_client_disconnecting_mid_upload
the disk full while uploading         files::test_a_full_disk_while_saving_the_upload (file
(ENOSPC, EDQUOT; a real 256 KiB       step), ::test_a_full_disk_while_the_request_is_read
tmpfs, root only)                     (Werkzeug's spool in the temp folder), ::test_a_full_
                                      disk_while_the_file_is_checked (staged Parquet)
the database's disk full (SQLite on   tests/hostile/test_database.py::test_a_full_disk_under_
a real tmpfs; SQLITE_FULL, PG 53100)  the_sqlite_database_is_a_507_sentence (bug fixed: it said
                                      the database was busy, 503); tests/services/test_
                                      transactions.py::test_a_full_database_disk_is_neither_
                                      busy_nor_tried_again
1,000,000 copies of one number        slow::test_a_million_copies_of_one_number
formula payloads in every exported    content::test_formula_payloads_are_neutralised_in_every_
column                                download; tests/domain/test_csv_export.py
``<script>``, ``<img onerror>``,      content::test_markup_in_names_and_notes_is_shown_escaped
``hx-*`` in names and notes
RTL-override and zero-width           content::test_invisible_characters_in_phones_are_never_
characters in phones                  stored; tests/domain/test_phones.py::test_common_shapes_
                                      normalise (``415\\u200b555\\u200b2671``)
``../../x.csv``, ``CON.csv``, empty   content::test_path_like_file_names_stay_in_the_staging_
file names                            folder, ::test_an_empty_file_name_is_refused
a header injection in an email field  content::test_a_header_injection_in_the_notify_address_is_
                                      refused (bug fixed: any text with an "@" was accepted)
the same file twice                   content::test_the_same_file_twice_is_flagged_and_its_rows_
                                      are_existing_duplicates; test_cli.py::test_import_
                                      reproduces_the_truth_and_a_second_import_finds_every_row
====================================  ==========================================================
"""
