"""SN-GAN training, and FID / IS evaluation of its samples."""
