"""The stacked layers' tests run with one torch thread."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """These tests compute on tensors of a few hundred numbers, where torch's intra-op threads only wait on each
    other: on a 2-core machine busy with other work, the convolutional crowd test took 7 to 13 s with two
    threads and 0.25 s with one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
