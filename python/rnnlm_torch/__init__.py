"""rnnlm's models in PyTorch: the same cells, options, vocabulary rules, batches, optimizers and
schedules as the TypeScript toolkit, trained with DistributedDataParallel, reading and writing
rnnlm checkpoints.

Entry points: ``python -m rnnlm_torch.train`` (under torchrun for several processes),
``python -m rnnlm_torch.evaluate``, ``python -m rnnlm_torch.launch`` (torchrun, repaired for
torch 1.13 on Python 3.11).
"""

from .checkpoint import Checkpoint, decode_checkpoint, encode_checkpoint, read_checkpoint, save_checkpoint
from .classes import assign_classes, unigram_counts, validate_classes
from .config import CELLS, ModelConfig
from .errors import CheckpointError, ConfigError, DivergenceError, InputError, RnnlmError, VocabMismatchError
from .evaluation import EvalResult, evaluate_ids, evaluate_text
from .model import RnnLM, checkpoint_specs
from .optim import Optimizer, clip_grad_norm
from .vocab import EOS, UNK, Vocab, read_text, tokenize

__all__ = [
    "CELLS", "EOS", "UNK", "Checkpoint", "CheckpointError", "ConfigError", "DivergenceError", "EvalResult", "InputError",
    "ModelConfig", "Optimizer", "RnnLM", "RnnlmError", "Vocab", "VocabMismatchError", "assign_classes", "checkpoint_specs",
    "clip_grad_norm", "decode_checkpoint", "encode_checkpoint", "evaluate_ids", "evaluate_text", "read_checkpoint",
    "read_text", "save_checkpoint", "tokenize", "unigram_counts", "validate_classes",
]
__version__ = "0.1.0"
