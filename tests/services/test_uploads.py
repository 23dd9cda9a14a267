"""Uploaded files saved on disk, and a full disk turned into the caller's sentence."""

import errno
import io

import pytest

from leadapp.services.uploads import refusing_a_full_disk, save_stream


def test_a_stream_is_saved_whole_in_a_folder_made_for_it(tmp_path):
    data = b"phone\n" + b"415 555 0100\n" * 200_000  # over one 1 MiB chunk
    target = tmp_path / "new" / "folder" / "list.csv"
    save_stream(io.BytesIO(data), target)
    assert target.read_bytes() == data


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_becomes_the_refusal_and_other_errors_pass(code):
    full = ValueError("The disk is full; free space, then try again.")
    with pytest.raises(ValueError, match="free space") as info, refusing_a_full_disk(full):
        raise OSError(code, "No space left on device")
    assert info.value.__cause__.errno == code
    with pytest.raises(PermissionError), refusing_a_full_disk(ValueError("never")):
        raise PermissionError(errno.EACCES, "Permission denied")
