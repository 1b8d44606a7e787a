"""ssltk: efficient self-supervised speech pre-training (wav2vec 2.0, SEW, SEW-D).

Install (CPU machine, torch pinned to the local 2.13.0 wheel):
    pip install torch==2.13.0 && pip install -c constraints.txt -e '.[dev]'
"""
from setuptools import find_packages, setup

setup(
    name="ssltk",
    version="0.1.0",
    description="Recipes and models for efficient self-supervised speech pre-training",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["ssltk", "ssltk.*"]),
    install_requires=[
        # Any spec must admit 2.13.0 (the local CPU wheel), or pip pulls a multi-GB CUDA build.
        "torch>=2.4",
        "numpy",
        "pyyaml",
        "safetensors",
        "soundfile",
        "scipy",  # polyphase resampling of non-16 kHz audio (--resample); lhotse's resampling
        "lhotse",
        "urllib3",  # imported by lhotse but not declared by it
        "tensorboard",
        "tqdm",
        "matplotlib",
        "sentencepiece",
        "rapidfuzz",  # edit-distance alignments (the routine jiwer uses, so WER breakdowns agree)
        "kaldifst",  # WFST graphs (k2-fsa's OpenFst bindings)
        "kaldilm",  # ARPA -> G.fst
        "kaldi-decoder",  # WFST search over CTC posteriors
    ],
    extras_require={
        # kenlm (compiled from source, a few minutes) checks the in-tree n-gram trainer's perplexities
        # espeakng-loader: the mini_tts recipe tests synthesise their corpus (stage 0 installs it for users)
        "dev": ["pytest", "pytest-timeout", "transformers>=4.40", "jiwer", "kenlm", "espeakng-loader"],
        # flash-attn needs CUDA and a compiler; SDPA already uses flash kernels on CUDA.
        "gpu": ["flash-attn"],
    },
)
