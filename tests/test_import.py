import subprocess
import sys


def test_import_toolkit_does_not_import_lightning_or_hydra():
    code = (
        "import sys, toolkit, toolkit.cnn, toolkit.init, toolkit.checkpoint;"
        "assert 'lightning' not in sys.modules and 'hydra' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_module_works_beside_a_folder_named_toolkit(tmp_path):
    """From the parent of a clone named `toolkit`, that folder is a namespace package that hides the
    installed package's `__init__`; every module must still import (and `python -m toolkit` run)."""
    (tmp_path / "toolkit" / "docs").mkdir(parents=True)
    code = "import toolkit.checkpoint.save, toolkit.version; print(toolkit.version.__version__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == toolkit_version(), done.stderr[-1000:]


def toolkit_version() -> str:
    import toolkit

    return toolkit.__version__


def test_top_level_exports_the_contract_names():
    import toolkit

    names = [
        "Registry",
        "build_from_cfg",
        "build_conv_layer",
        "build_norm_layer",
        "build_activation_layer",
        "build_upsample_layer",
        "build_padding_layer",
        "CONV_LAYERS",
        "NORM_LAYERS",
        "ACTIVATION_LAYERS",
        "UPSAMPLE_LAYERS",
        "PADDING_LAYERS",
        "ConvModule",
        "fuse_conv_bn",
        "constant_init",
        "xavier_init",
        "normal_init",
        "trunc_normal_init",
        "uniform_init",
        "kaiming_init",
        "caffe2_xavier_init",
        "bias_init_with_prob",
        "initialize",
        "INITIALIZERS",
        "ConstantInit",
        "XavierInit",
        "NormalInit",
        "TruncNormalInit",
        "UniformInit",
        "KaimingInit",
        "Caffe2XavierInit",
        "PretrainedInit",
        "BaseModule",
        "Sequential",
        "ModuleList",
        "ModuleDict",
        "load_checkpoint",
        "load_state_dict",
        "CheckpointError",
    ]
    missing = [name for name in names if not hasattr(toolkit, name)]
    assert missing == []
    import toolkit.cnn

    assert toolkit.cnn.initialize is toolkit.init.initialize


def test_every_public_function_and_class_documents_its_arguments():
    """The reference pages are generated from the docstrings: each public callable that takes arguments
    of its own says what they are (an `Args:` section)."""
    import inspect

    import toolkit

    undocumented = []
    for name in toolkit.__all__:
        obj = getattr(toolkit, name)
        if inspect.isclass(obj):
            own = obj.__dict__.get("__init__")
            params = [] if own is None else [p for p in inspect.signature(own).parameters if p != "self"]
        elif inspect.isfunction(obj):
            params = list(inspect.signature(obj).parameters)
        else:
            continue
        if params and "Args:" not in (inspect.getdoc(obj) or ""):
            undocumented.append(name)
    assert undocumented == []
