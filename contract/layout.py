"""The Kaggle dataset's layout under a data root, as kagglehub downloads
`raman77768/movie-classifier`: one labels CSV and one JPEG per Id."""
LABELS_FILE = 'Multi_Label_dataset/train.csv'
IMAGES_DIR = 'Multi_Label_dataset/Images'
IMAGE_EXTENSION = '.jpg'
