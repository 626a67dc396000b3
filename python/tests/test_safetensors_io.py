"""The safetensors reader / writer: bytes as rnnlm's encoder writes them, round trips of every dtype,
and refusals of damaged files; JavaScript number formatting for the config JSON."""

from __future__ import annotations

import struct
import unittest

import torch

from rnnlm_torch import safetensors_io as st
from rnnlm_torch.config import js_number
from rnnlm_torch.errors import CheckpointError

from . import support  # noqa: F401  (one thread)

BUILTIN = st.implementation() == "built-in"


class SafetensorsTest(unittest.TestCase):
    @unittest.skipUnless(BUILTIN, f"byte layout of the built-in writer; the installed package ({st.implementation()}) orders the header its own way")
    def test_tiny_file_matches_the_hand_computed_bytes(self):
        # The same bytes test/safetensors.test.ts expects from rnnlm's encodeSafetensors.
        data = st.encode([("a", torch.tensor([1.0, -2.0]))], {"k": "v"})
        header = b'{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
        self.assertEqual(len(header), 79)
        self.assertEqual(data, struct.pack("<Q", 80) + header + b" " + bytes([0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0]))
        bare = st.encode({"a": torch.tensor([1.0, -2.0])})
        self.assertEqual(bare[:8], struct.pack("<Q", 56))
        self.assertEqual(bare[8:64], b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  ')

    def test_round_trip_of_every_dtype_shape_and_metadata(self):
        tensors = {
            "f32": torch.randn(3, 4),
            "f64": torch.randn(5, dtype=torch.float64),
            "f16": torch.randn(2, 3).half(),
            "bf16": torch.randn(7).bfloat16(),
            "i64": torch.tensor([-(2**62), 5]),
            "i32": torch.tensor([2**31 - 1, -7], dtype=torch.int32),
            "u8": torch.tensor([0, 255], dtype=torch.uint8),
            "scalar": torch.tensor(2.5),
            "empty": torch.empty(0, 3),
        }
        meta = {"format": "rnnlm", "ü": "\n\"quoted\"\u2028"}
        got, got_meta = st.decode(st.encode(tensors, meta))
        self.assertEqual(got_meta, meta)
        self.assertEqual(set(got), set(tensors))
        for k, t in tensors.items():
            self.assertEqual(got[k].dtype, t.dtype, k)
            self.assertEqual(got[k].shape, t.shape, k)
            self.assertTrue(torch.equal(got[k], t), k)

    def test_damaged_files_are_refused_with_the_reason(self):
        good = st.encode({"a": torch.ones(2), "b": torch.ones(3)}, {"k": "v"})
        (n,) = struct.unpack("<Q", good[:8])
        cases = {
            "shorter than the 8-byte header length": good[:5],
            "truncated file or oversized header": struct.pack("<Q", 10**6) + good[8:],
            "trailing bytes|cover only": good + b"\0\0\0\0",
            "lie outside the data section|span": good[:-4],
            "not valid JSON": struct.pack("<Q", 8) + b"{nope!!}",
        }
        for pattern, data in cases.items():
            with self.assertRaisesRegex(CheckpointError, pattern):
                st.decode(data)
        # A gap: tensor "a" moved 4 bytes on.
        header = good[8 : 8 + n].decode().replace('"data_offsets":[0,8]', '"data_offsets":[4,12]')
        with self.assertRaisesRegex(CheckpointError, "overlap|gap"):
            st.decode(struct.pack("<Q", len(header)) + header.encode() + good[8 + n :])

    def test_js_number_formatting(self):
        cases = {0.5: "0.5", 1.0: "1", -0.0: "0", 0.25: "0.25", 1e-5: "0.00001", 1e-6: "0.000001", 1e-7: "1e-7", 1.5e-7: "1.5e-7",
                 123456.789: "123456.789", 1e21: "1e+21", 2.5e22: "2.5e+22", 0.1 + 0.2: "0.30000000000000004", 3: "3"}
        for x, want in cases.items():
            self.assertEqual(js_number(x), want, repr(x))


if __name__ == "__main__":
    unittest.main()
