"""Tests of rnnlm_torch; run by ``npm test`` (test/python.test.ts) through tests/run_json.py."""
