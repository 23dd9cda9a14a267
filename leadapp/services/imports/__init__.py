"""The import engine: one engine behind the wizard, ``flask leads import`` and the API, one
module per stage of the pipeline, each resumable:

1. **read** (``read``) — the file is saved in the import's staging folder and its format
   detected; the columns are then mapped to lead fields (``mapping``, ``fields``).
2. **stage** (``stage``) — the CSV is read in chunks, mapped, validated and normalised
   (phones to E.164, time zones resolved), and written to ``staged.parquet``, one row per
   data row of the file with its line number, validity, reasons and match key. Edits and
   deletions made in the wizard's check-data grid (``grid``) live beside it in small tables
   (``edits``), so the staged file is never rewritten.
3. **analyse** (``analyse``) — duplicates in the file (pandas over the staged keys) and
   duplicates of existing leads in scope (``duplicates``: set-based SQL against the indexed
   keys, a chunk of keys per query), giving the counts shown on the review step.
4. **write** (``write``, rows through ``lead_writer``) — leads are written in batches,
   each batch in one transaction together with its checkpoint (``Import.rows_done``); a
   run that is killed resumes after the last committed batch and never writes a row twice.
   The next batches' leads are built and serialised (``serialise``) in a thread
   (``ahead``) while the database writes the current one.
5. **report** (``report``) — the counts, the chosen options in words, the downloads.

``run`` drives the stages for the job and the CLI; ``errors`` holds the refusals.

Counting rules (DESIGN.md §7): ``valid + invalid = rows``; a row is invalid when its
duplicate-key phone (the first phone field, the number that is dialled) holds no valid
number, or a field fails its definition — invalid extra phones are dropped from the lead
and reported as a warning; ``duplicates_in_file`` are valid rows repeating the key of an
earlier valid row; ``duplicates_existing`` are the remaining valid rows that match a lead
in scope. Scope ``none`` searches nothing and imports every valid row.

The package imports none of its modules: import the stage you use
(``from leadapp.services.imports import read``); no module imports another in a cycle.
"""
