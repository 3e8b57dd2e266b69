import service


def test_public_surface() -> None:
    exported = set(service.__all__)
    assert exported == {"Article", "NewsflowError", "RawArticle", "Rejected", "Rejection",
                        "__version__"}
    for name in exported:
        assert hasattr(service, name)
