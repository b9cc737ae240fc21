import os
import pickle
import signal
import sys
import zlib

import pytest
import torch
from PIL import Image

from toolkit.errors import ConfigError
from toolkit.training.cifar import CIFARData
from toolkit.training.data import JOB_SIGNALS, DigitsData, EpochSeededSampler, SyntheticData
from toolkit.training.image_folder import FolderData

from ..conftest import set_up


def test_digits_train_val_test_split_is_fixed_by_the_seed():
    first, again, other = set_up(DigitsData(seed=3)), set_up(DigitsData(seed=3)), set_up(DigitsData(seed=4))
    splits = (first.train_set, first.val_set, first.test_set)
    assert [len(split) for split in splits] == [1079, 359, 359] and first.channels == 1 and first.num_classes == 10
    assert sorted(index for split in splits for index in split.indices) == list(range(1797))
    assert first.val_set.indices == again.val_set.indices != other.val_set.indices
    assert first.test_set.indices == again.test_set.indices != other.test_set.indices
    images, labels = next(iter(first.test_dataloader()))
    assert images.shape == (64, 1, 8, 8)
    images, labels = next(iter(first.train_dataloader()))
    assert images.shape == (64, 1, 8, 8) and labels.max() <= 9
    assert abs(first.dataset.tensors[0].mean().item()) < 1e-5


def test_epoch_order_depends_only_on_seed_and_epoch():
    sampler = EpochSeededSampler(50, seed=1)
    sampler.set_epoch(3)
    order = list(sampler)
    sampler.set_epoch(4)
    assert list(sampler) != order
    fresh = EpochSeededSampler(50, seed=1)
    fresh.set_epoch(3)
    assert list(fresh) == order and sorted(order) == list(range(50))


@pytest.mark.parametrize(("size", "channels"), [(16, 1), (48, 3)])
def test_synthetic_at_two_sizes(size, channels):
    data = set_up(SyntheticData(size=size, channels=channels, samples=100, num_classes=4, noise=0.5))
    image, label = data.dataset[5]
    assert image.shape == (channels, size, size) and label == 1
    assert torch.equal(data.dataset[5][0], image)
    same_class = torch.stack([data.dataset[i][0] for i in (1, 5, 9)]).mean(0)
    assert torch.nn.functional.cosine_similarity(same_class.flatten(), data.dataset.patterns[1].flatten(), 0) > 0.7


def write_images(root, counts, size=10):
    for index, (name, count) in enumerate(counts.items()):
        (root / name).mkdir(parents=True)
        for item in range(count):
            Image.new("RGB", (size, size + item), color=(index * 80, 20, 200)).save(root / name / f"{item}.png")


def test_folder_reads_class_folders(tmp_path):
    write_images(tmp_path, {"cat": 3, "dog": 4, "emu": 2})
    (tmp_path / "notes.txt").write_text("not an image")
    data = set_up(FolderData(root=str(tmp_path), size=12, channels=3, val_fraction=0.1, test_fraction=0.1))
    assert data.num_classes == 3 and data.dataset.classes == ["cat", "dog", "emu"]
    image, label = data.dataset[3]  # decoded, at its own size
    assert image.shape == (3, 10, 10) and image.dtype == torch.uint8 and label == 1
    assert image[:, 0, 0].tolist() == [80, 20, 200]
    served = data.test_set[0][0]  # resized to data.size, normalized by ImageNet's statistics
    assert served.shape == (3, 12, 12) and served.dtype == torch.float32
    grey = set_up(FolderData(root=str(tmp_path), size=8, channels=1))
    assert grey.dataset[0][0].shape == (1, 10, 10) and grey.train_set[0][0].shape == (1, 8, 8)


def test_folder_errors_name_the_path(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.root='.*nowhere': no such folder"):
        set_up(FolderData(root=str(tmp_path / "nowhere")))
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"data\.root='.*empty' holds no images in class sub-folders"):
        set_up(FolderData(root=str(tmp_path / "empty")))


def test_an_unreadable_image_is_named_when_met_or_skipped_with_a_warning(tmp_path):
    write_images(tmp_path, {"cat": 3, "dog": 3})
    (tmp_path / "dog" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    data = set_up(FolderData(root=str(tmp_path), size=8))  # starts without reading any image
    broken = data.dataset.files.index((str(tmp_path / "dog" / "1.png"), 1))
    assert data.dataset[broken - 1][1] == 1
    with pytest.raises(ConfigError, match=r"cannot read the image '.*dog/1\.png'"):
        data.dataset[broken]
    skipping = set_up(FolderData(root=str(tmp_path), size=8, skip_unreadable=True))
    with pytest.warns(UserWarning, match=r"skipped: cannot read the image '.*dog/1\.png'"):
        image, label = skipping.dataset[broken]  # the next readable image, its label with it
    assert image.shape == (3, 12, 10)  # dog/2.png: 10 wide, 12 high
    assert torch.equal(image, skipping.dataset[broken + 1][0]) and label == skipping.dataset[broken + 1][1]


def test_a_corrupt_jpeg_is_named_when_met_and_good_ones_decode_as_pillow_does(tmp_path):
    write_images(tmp_path, {"cat": 2, "dog": 2})
    Image.new("RGB", (9, 7), color=(10, 120, 250)).save(tmp_path / "cat" / "photo.jpg", quality=95)
    (tmp_path / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG after all")
    data = set_up(FolderData(root=str(tmp_path), size=8))
    photo = data.dataset.files.index((str(tmp_path / "cat" / "photo.jpg"), 0))
    with Image.open(tmp_path / "cat" / "photo.jpg") as image:
        by_pillow = torch.from_numpy(__import__("numpy").array(image)).permute(2, 0, 1)
    decoded = data.dataset[photo][0]
    assert decoded.shape == (3, 7, 9) and (decoded.int() - by_pillow.int()).abs().max() <= 2
    broken = data.dataset.files.index((str(tmp_path / "dog" / "broken.jpg"), 1))
    with pytest.raises(ConfigError, match=r"cannot read the image '.*dog/broken\.jpg'"):
        data.dataset[broken]


def test_only_regular_files_are_read_and_a_symlink_loop_is_named(tmp_path):
    write_images(tmp_path, {"cat": 3, "dog": 3})
    os.mkfifo(tmp_path / "cat" / "x.png")  # opening it would wait for a writer for ever
    data = set_up(FolderData(root=str(tmp_path), size=8, val_fraction=0.2, test_fraction=0.2))
    assert sorted(os.path.basename(path) for path, _ in data.dataset.files) == [
        "0.png",
        "0.png",
        "1.png",
        "1.png",
        "2.png",
        "2.png",
    ]
    assert len([data.dataset[index] for index in range(len(data.dataset))]) == 6
    os.symlink(tmp_path / "dog" / "loop.png", tmp_path / "dog" / "loop.png")
    with pytest.raises(
        ConfigError, match=r"data\.root: cannot read '.*dog/loop\.png': Too many levels of symbolic links"
    ):
        set_up(FolderData(root=str(tmp_path), size=8))


def png_claiming(path, width: int, height: int) -> None:
    """A small PNG whose header claims `width` x `height` pixels, as a decompression bomb's does."""
    Image.new("L", (8, 8)).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    path.write_bytes(bytes(data))


def test_a_decompression_bomb_is_named_in_our_words(tmp_path):
    write_images(tmp_path, {"cat": 3, "dog": 3})
    png_claiming(tmp_path / "dog" / "0.png", 30000, 30000)
    data = set_up(FolderData(root=str(tmp_path), size=8))
    bomb = data.dataset.files.index((str(tmp_path / "dog" / "0.png"), 1))
    limit = f"{Image.MAX_IMAGE_PIXELS * 2:,}"
    with pytest.raises(
        ConfigError, match=rf"cannot read the image '.*dog/0\.png': it has more pixels than Pillow decodes \({limit}\)"
    ):
        data.dataset[bomb]


def test_loader_settings(tmp_path):
    write_images(tmp_path, {"cat": 3, "dog": 3})
    data = set_up(FolderData(root=str(tmp_path), size=8, num_workers=None, prefetch_factor=4))
    loader = data.train_dataloader()
    assert loader.num_workers == len(os.sched_getaffinity(0)) and loader.persistent_workers
    assert loader.prefetch_factor == 4 and loader.pin_memory == torch.cuda.is_available()
    assert set_up(DigitsData()).train_dataloader().num_workers == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"batch_size": 0}, "data.batch_size=0: must be a positive integer"),
        ({"num_workers": -1}, "data.num_workers=-1: must be 0 or more"),
        ({"test_fraction": 1.5}, "data.test_fraction=1.5: must lie strictly between 0 and 1"),
        ({"val_fraction": 0.6, "test_fraction": 0.4}, "leave no training sample of the 1797 in DigitsData"),
    ],
)
def test_bad_split_arguments_name_the_key(arguments, message):
    with pytest.raises(ConfigError, match=message):
        set_up(DigitsData(**arguments))


SHIPPED = {
    "digits": lambda root: DigitsData(),
    "synthetic": lambda root: SyntheticData(samples=64, size=8),
    "folder": lambda root: FolderData(root=str(root)),
    "cifar10": lambda root: CIFARData(str(root)),
    "cifar100": lambda root: CIFARData(str(root), classes=100),
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_constructing_a_data_module_reads_nothing_and_setup_reads_once(name, tmp_path, monkeypatch):
    reads = []
    for module in (DigitsData, SyntheticData, FolderData, CIFARData):
        original = module.split_sets
        monkeypatch.setattr(module, "split_sets", lambda self, original=original: reads.append(1) or original(self))
    missing = tmp_path / "not-there"  # a folder or CIFAR root that is not there stops setup(), not the constructor
    data = SHIPPED[name](missing)
    assert reads == [] and data.train_set is None
    if name in ("folder", "cifar10", "cifar100"):
        with pytest.raises(ConfigError, match="not-there"):
            data.setup("fit")
        return
    data.setup("fit")
    data.setup("test")
    assert reads == [1] and len(data.train_set) > 0


def test_a_data_module_travels_to_other_processes_without_its_data():
    data = set_up(DigitsData())
    sent = pickle.loads(pickle.dumps(data))
    assert sent.train_set is None and sent.dataset is None and len(pickle.dumps(data)) < 2_000
    assert len(set_up(sent).train_set) == len(data.train_set)


class SignalledByTheJob(torch.utils.data.Dataset):
    """Each item sends the worker that loads it the signal that stops or requeues a job (SLURM signals
    every process of a job, the loaders' workers included)."""

    def __init__(self, number: int):
        self.number = number

    def __len__(self):
        return 4

    def __getitem__(self, index):
        os.kill(os.getpid(), self.number)
        return index


@pytest.mark.parametrize("number", JOB_SIGNALS, ids=[number.name for number in JOB_SIGNALS])
def test_a_loader_worker_ignores_the_signals_that_stop_or_requeue_a_job(number):
    """The training process handles the signal (submitit's handler requeues the job and exits, as this
    stand-in does); a worker running the handler it inherited, or dying of the signal, would end the run
    with "DataLoader worker exited unexpectedly"."""
    before = signal.signal(number, lambda signum, frame: sys.exit(-1))
    try:
        options = SyntheticData(num_workers=1).loader_options  # those of every toolkit data module's loaders
        batches = torch.utils.data.DataLoader(SignalledByTheJob(number), batch_size=2, **options)
        assert [batch.tolist() for batch in batches] == [[0, 1], [2, 3]]
    finally:
        signal.signal(number, before)
