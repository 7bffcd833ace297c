from tests.select.sam_files import mobile_sam_file

__all__ = ["mobile_sam_file"]
