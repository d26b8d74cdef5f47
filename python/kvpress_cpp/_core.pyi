"""Type stubs of the compiled module kvpress_cpp._core (python/src/*.cc)."""

from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy
import numpy.typing

class Model:
    @staticmethod
    def load(path: str = "", tokenizer: str = "", check_weights: bool = True, mmap: bool = False) -> Model: ...
    @property
    def weights_in_huge_pages(self) -> bool: ...
    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def config(self) -> Dict[str, Any]: ...
    @property
    def has_tokenizer(self) -> bool: ...
    @property
    def has_chat_template(self) -> bool: ...
    def tokenize(self, text: str, add_special: bool = True) -> List[int]: ...
    def detokenize(self, ids: Sequence[int]) -> str: ...

class GenerateRequest:
    has_prompt: bool
    prompt: str
    has_prompt_ids: bool
    prompt_ids: List[int]
    pipeline: bool
    context: str
    questions: List[str]
    answer_prefix: str
    chat: str
    enable_thinking: Optional[bool]
    max_context_length: int
    add_bos: bool
    max_new_tokens: int
    temperature: float
    top_p: float
    top_k: int
    min_p: float
    repetition_penalty: float
    seed: int
    stop: List[str]
    stop_on_repetition: bool
    press: str
    cache_budget: int
    compression_ratio: float
    compression_interval: int
    target_size: int
    prefill_chunk: int
    kv_dtype: str
    eviction_log: str
    threads: int
    def __init__(self) -> None: ...

def generate(model: Model, request: GenerateRequest) -> Dict[str, Any]: ...

class TextStream:
    def __init__(self, model: Model, request: GenerateRequest) -> None: ...
    def __iter__(self) -> Iterator[Tuple[int, str]]: ...
    def __next__(self) -> Tuple[int, str]: ...
    def close(self) -> None: ...
    @property
    def result(self) -> Optional[Dict[str, Any]]: ...

def press_catalog() -> List[Dict[str, Any]]: ...
def check_press(
    spec: str, cache_budget: int = 0, compression_ratio: float = 0.0, compression_interval: int = 0, target_size: int = 0
) -> None: ...

class Session:
    def __init__(
        self,
        model: Model,
        press: str = "",
        cache_budget: int = 0,
        compression_ratio: float = 0.0,
        compression_interval: int = 0,
        target_size: int = 0,
        seed: int = 0,
        kv_dtype: str = "f32",
        prefill_chunk: int = 0,
        threads: int = 0,
    ) -> None: ...
    def prefill(self, ids: Sequence[int], phase: str = "prefill") -> numpy.typing.NDArray[numpy.float32]: ...
    def decode(
        self,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        top_p: float = 1.0,
        top_k: int = 0,
        min_p: float = 0.0,
        repetition_penalty: float = 1.0,
        seed: int = 0,
        stop: Sequence[str] = ...,
        stop_on_repetition: bool = False,
    ) -> Dict[str, Any]: ...
    def kept_positions(self, layer: int = -1) -> List[Any]: ...
    @property
    def logits(self) -> Optional[numpy.typing.NDArray[numpy.float32]]: ...
    @property
    def kept_per_layer(self) -> List[int]: ...
    @property
    def metrics(self) -> Dict[str, Any]: ...
    @property
    def next_position(self) -> int: ...
    @property
    def history(self) -> List[int]: ...

class RunConfig:
    def __init__(self, settings: Dict[str, Any]) -> None: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @property
    def stem(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def dataset(self) -> str: ...
    @property
    def data_file(self) -> str: ...
    @property
    def data_dir(self) -> str: ...
    @property
    def data_split(self) -> str: ...
    def validate(self) -> None: ...

def eval_setting_keys() -> List[str]: ...

class Dataset:
    @staticmethod
    def load(key: str, data_file: str = "", config: str = "", split: str = "") -> Dataset: ...
    def __len__(self) -> int: ...
    @property
    def rows_read(self) -> int: ...
    @property
    def skipped(self) -> int: ...

def run_eval(
    config: RunConfig, dataset: Dataset, model: Model, progress: Optional[Callable[[Dict[str, Any]], None]] = None
) -> Dict[str, Any]: ...
def expand_sweep(
    settings: Dict[str, Any],
    models: Sequence[str],
    datasets: Sequence[str],
    presses: Sequence[str],
    budgets: Sequence[int],
    data_files: Sequence[str],
    config_file: str,
    shard: str = "1/1",
) -> List[Tuple[int, RunConfig]]: ...
